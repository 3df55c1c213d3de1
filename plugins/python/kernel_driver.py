# The Python kernel of a Bay sandbox. The agent (`bay ship`) starts one per
# session and speaks JSON lines with it: requests on stdin, events on a
# private copy of the original stdout. fd 1 is then pointed at stderr so that
# output of subprocesses cannot corrupt the protocol.
import ast
import base64
import json
import linecache
import os
import re
import signal
import sys
import traceback
import warnings

_proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
_stdin = sys.stdin
sys.stdin = open(os.devnull)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_executing = False


def _on_sigint(signum, frame):
    # The agent sends SIGINT on timeout; only user code is interrupted.
    if _executing:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, _on_sigint)


def emit(message):
    _proto.write(json.dumps(message) + "\n")


class _Stream:
    """A text stream that forwards every write as an event, so output can be streamed."""

    def __init__(self, name):
        self.name = name
        self.encoding = "utf-8"
        self.errors = "replace"

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        # Bounded events keep the agent's line buffer small whatever one print() holds.
        for start in range(0, len(text), 65536):
            emit({"type": "stream", "name": self.name, "text": text[start : start + 65536]})
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        raise OSError("captured stream has no file descriptor")


def _png_of(value):
    method = getattr(value, "_repr_png_", None)
    if method is None or isinstance(value, type):
        return None
    try:
        data = method()
    except Exception:
        return None
    if isinstance(data, tuple):
        data = data[0]
    if isinstance(data, bytes):
        return base64.b64encode(data).decode("ascii")
    if isinstance(data, str):
        return data
    return None


class PlainExecutor:
    """Runs cells with exec/eval when IPython is absent; shows a trailing expression like IPython."""

    name = "python"

    def __init__(self):
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        self.execution_count = 0

    def run(self, source):
        self.execution_count += 1
        filename = "<cell-%d>" % self.execution_count
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            tree = ast.parse(source, filename, "exec")
        except SyntaxError:
            return "".join(traceback.format_exception_only(*sys.exc_info()[:2]))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        try:
            exec(compile(tree, filename, "exec"), self.namespace)
            if last is not None:
                value = eval(compile(last, filename, "eval"), self.namespace)
                if value is not None:
                    self.namespace["_"] = value
                    data = {"text/plain": repr(value)}
                    png = _png_of(value)
                    if png:
                        data["image/png"] = png
                    emit({"type": "result", "data": data})
        except BaseException as error:  # noqa: BLE001 - user code may raise anything, SystemExit included
            if isinstance(error, SystemExit) and error.code in (None, 0):
                return None
            etype, value, tb = sys.exc_info()
            return "".join(traceback.format_exception(etype, value, tb.tb_next if tb else None))
        return None


class IPythonExecutor:
    """Runs cells in IPython's InteractiveShell; rich output goes to events, not to stdout."""

    name = "ipython"

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        shell.colors = "NoColor"
        try:
            shell.InteractiveTB.set_colors("NoColor")
            shell.SyntaxTB.set_colors("NoColor")
        except Exception:
            pass
        self.shell = shell
        self._error = None

        hook = shell.displayhook
        hook.write_output_prompt = lambda *a, **k: None
        hook.start_displayhook = lambda *a, **k: None
        hook.finish_displayhook = lambda *a, **k: None
        hook.write_format_data = lambda format_dict, md_dict=None: emit(
            {"type": "result", "data": _text_and_png(format_dict)}
        )
        shell.display_pub.publish = lambda data, metadata=None, **kw: emit(
            {"type": "display", "data": _text_and_png(data)}
        )

        def show(etype, evalue, stb):
            self._error = shell.InteractiveTB.stb2text(stb)

        shell._showtraceback = show

    @property
    def execution_count(self):
        return self.shell.execution_count - 1

    def run(self, source):
        self._error = None
        result = self.shell.run_cell(source, store_history=True)
        if result.success:
            return None
        if self._error:
            return self._error
        failure = result.error_before_exec or result.error_in_exec
        return "".join(traceback.format_exception_only(type(failure), failure))


# Figures are rendered off-screen (MPLBACKEND=Agg) and returned as images, so
# Agg's "cannot be shown" warning says nothing useful here.
warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")


def emit_open_figures():
    """Sends every open matplotlib figure as a PNG, then closes them (like an inline backend)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    import io

    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png", bbox_inches="tight")
        except Exception as error:  # a broken figure must not break the cell's result
            emit({"type": "stream", "name": "stderr", "text": "could not render figure %d: %s\n" % (number, error)})
            continue
        emit({"type": "display", "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii")}})
    pyplot.close("all")


def _text_and_png(data):
    shown = {}
    for key in ("text/plain", "image/png"):
        if key in data:
            value = data[key]
            shown[key] = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
    return shown


def _make_executor():
    if os.environ.get("BAY_KERNEL_PLAIN") != "1":
        try:
            return IPythonExecutor()
        except ImportError:
            pass
    return PlainExecutor()


def main():
    global _executing
    executor = _make_executor()
    stdout, stderr = _Stream("stdout"), _Stream("stderr")
    emit({"type": "ready", "executor": executor.name, "python": sys.version.split()[0], "pid": os.getpid()})
    while True:
        try:
            line = _stdin.readline()
        except KeyboardInterrupt:
            continue
        if not line:
            return
        try:
            request = json.loads(line)
        except ValueError:
            continue
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        error = None
        try:
            _executing = True
            error = executor.run(request.get("code", ""))
        except KeyboardInterrupt:
            error = "KeyboardInterrupt\n"
        finally:
            _executing = False
            try:
                emit_open_figures()
            except Exception:
                pass
            sys.stdout, sys.stderr = saved
        emit(
            {
                "type": "done",
                "id": request.get("id"),
                "success": error is None,
                "error": _ANSI.sub("", error) if error else None,
                "execution_count": executor.execution_count,
            }
        )


if __name__ == "__main__":
    main()
