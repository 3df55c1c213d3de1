/*
 * The process of a network slot's holder container (network-slots.ts),
 * native: what `bay hold` (src/agent/network-holder.ts) does, by the same
 * rules and with the same arguments, in a few hundred KB instead of a Bun
 * runtime's few MB and without its idle wake-ups. One runs beside every
 * sandbox, as Kubernetes' pause does beside every pod.
 *
 * It keeps its network namespace for the one sandbox that joins it, and
 * ends itself, so that its container (auto-removed) never outlives its use:
 * unclaimed, after its ready lifetime; once the sandbox's agent has been
 * seen listening, when it has stopped (three looks in a row without it).
 * It looks through /proc/net (the tables of the reader's namespace) until
 * the agent shows up, then by trying to bind the agent's port: constant
 * time, where the tables list every connection of a busy sandbox.
 *
 * Built static by scripts/build.ts and carried inside the `bay` executable;
 * a build without a C compiler leaves it out and holders run `bay hold`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: slot-holder --ready-seconds N (--agent-port PORT | --agent-socket PATH) [--probe-ms MS] [--claimed-probe-ms MS]\n";

/* __SO_ACCEPTCON in /proc/net/unix: a listening socket. */
#define UNIX_ACCEPTING 0x10000UL
#define MISSES_TO_END 3

struct options {
  long ready_seconds;
  long port;
  const char *socket_path;
  long probe_ms;
  long claimed_probe_ms;
};

static void end_on_signal(int signal_number) {
  (void)signal_number;
  _exit(0);
}

/* A positive whole number in [1, max], or -1. */
static long parse_count(const char *text, long max) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > max) return -1;
  return value;
}

static int parse_options(int argc, char **argv, struct options *options) {
  *options = (struct options){.ready_seconds = -1, .port = -1, .socket_path = NULL, .probe_ms = 5000, .claimed_probe_ms = 10000};
  if ((argc - 1) % 2 != 0) return -1;
  for (int index = 1; index < argc; index += 2) {
    const char *name = argv[index], *value = argv[index + 1];
    if (strcmp(name, "--ready-seconds") == 0) options->ready_seconds = parse_count(value, 365L * 24 * 3600);
    else if (strcmp(name, "--agent-port") == 0) options->port = parse_count(value, 65535);
    else if (strcmp(name, "--agent-socket") == 0) options->socket_path = value[0] ? value : NULL;
    else if (strcmp(name, "--probe-ms") == 0) options->probe_ms = parse_count(value, 3600L * 1000);
    else if (strcmp(name, "--claimed-probe-ms") == 0) options->claimed_probe_ms = parse_count(value, 3600L * 1000);
    else return -1;
  }
  if (options->ready_seconds < 0 || options->probe_ms < 0 || options->claimed_probe_ms < 0) return -1;
  return options->socket_path || options->port > 0 ? 0 : -1;
}

/* The whole of a /proc table, NUL-terminated (the caller frees it), or NULL if it cannot be read. */
static char *read_table(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t size = 0, capacity = 16384;
  char *table = malloc(capacity);
  while (table) {
    if (capacity - size < 4096) {
      char *larger = realloc(table, capacity * 2);
      if (!larger) break;
      table = larger;
      capacity *= 2;
    }
    ssize_t got = read(fd, table + size, capacity - size - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close(fd);
      table[size] = '\0';
      return table;
    }
    size += (size_t)got;
  }
  free(table);
  close(fd);
  return NULL;
}

/* Whether a TCP socket listens on `port` in a /proc/net/tcp{,6} table: local port, no remote end, state LISTEN. */
static int tcp_listens(const char *path, long port) {
  char *table = read_table(path);
  if (!table) return 0;
  char ipv4[64], ipv6[64];
  snprintf(ipv4, sizeof ipv4, ":%04lX 00000000:0000 0A ", port);
  snprintf(ipv6, sizeof ipv6, ":%04lX 00000000000000000000000000000000:0000 0A ", port);
  int found = strstr(table, ipv4) != NULL || strstr(table, ipv6) != NULL;
  free(table);
  return found;
}

/* Whether a unix socket listens at `socket_path` in /proc/net/unix (Num RefCount Protocol Flags Type St Inode Path). */
static int unix_listens(const char *socket_path) {
  char *table = read_table("/proc/net/unix");
  if (!table) return 0;
  int found = 0;
  for (char *line = table; line && *line && !found; ) {
    char *next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *fields[8] = {0};
    int count = 0;
    for (char *saved = NULL, *field = strtok_r(line, " \t", &saved); field && count < 8; field = strtok_r(NULL, " \t", &saved)) fields[count++] = field;
    if (count == 8 && strcmp(fields[7], socket_path) == 0 && (strtoul(fields[3], NULL, 16) & UNIX_ACCEPTING)) found = 1;
    line = next;
  }
  free(table);
  return found;
}

/*
 * Whether the agent's port is taken, by trying to take it. Only once the
 * agent has been seen: it binds its port once, at its start, so a bind that
 * succeeds now means that it is gone (and the port is let go at once). The
 * agent binds as root, the holder as nobody: no address sharing can join them.
 */
static int port_taken(long port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port), .sin_addr = {htonl(INADDR_ANY)}};
  int bound = bind(fd, (struct sockaddr *)&address, sizeof address) == 0;
  close(fd);
  // A failure is "in use", or no proof that the agent is gone.
  return !bound;
}

static int agent_listening(const struct options *options, int claimed) {
  if (options->socket_path) return unix_listens(options->socket_path);
  if (claimed) return port_taken(options->port);
  return tcp_listens("/proc/net/tcp", options->port) || tcp_listens("/proc/net/tcp6", options->port);
}

static long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
}

int main(int argc, char **argv) {
  struct options options;
  if (parse_options(argc, argv, &options) != 0) {
    fputs(USAGE, stderr);
    return 2;
  }
  // As PID 1 a process ends on SIGTERM only if it says so; the engine stops holders with it.
  struct sigaction ending = {.sa_handler = end_on_signal};
  sigaction(SIGTERM, &ending, NULL);
  sigaction(SIGINT, &ending, NULL);

  const long long ready_until = now_ms() + options.ready_seconds * 1000LL;
  int claimed = 0, misses = 0;
  for (;;) {
    sleep_ms(claimed ? options.claimed_probe_ms : options.probe_ms);
    if (agent_listening(&options, claimed)) {
      claimed = 1;
      misses = 0;
    } else if (!claimed && now_ms() >= ready_until) {
      puts("slot-holder: done, never claimed");
      return 0;
    } else if (claimed && ++misses >= MISSES_TO_END) {
      puts("slot-holder: done, its sandbox ended");
      return 0;
    }
  }
}
