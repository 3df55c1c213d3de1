# The Python kernel of a Bay sandbox. The agent (`bay ship`) starts one per
# session and speaks JSON lines with it: requests on stdin, events on a
# private copy of the original stdout. fd 1 is then pointed at stderr so that
# output of subprocesses cannot corrupt the protocol.
import json
import os
import re
import signal
import sys
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


# What a result may carry besides text/plain, by the _repr_*_ method that makes it.
_REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("application/json", "_repr_json_"),
    ("text/latex", "_repr_latex_"),
)
_SHOWN_TYPES = ("text/plain",) + tuple(mime for mime, _ in _REPR_METHODS)


def _as_text(mime, value):
    """Every MIME type travels as a string: images as base64, JSON as JSON text."""
    if isinstance(value, tuple):
        value = value[0]
    if value is None:
        return None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if mime == "application/json" and not isinstance(value, str):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return None
    return value if isinstance(value, str) else None


def _mime_bundle(value):
    """What IPython's formatters would show for a value, without IPython."""
    bundle = {"text/plain": repr(value)}
    if isinstance(value, type):
        return bundle
    method = getattr(value, "_repr_mimebundle_", None)
    if method is not None:
        try:
            found = method()
            if isinstance(found, tuple):
                found = found[0]
            for mime, data in (found or {}).items():
                if mime in _SHOWN_TYPES:
                    text = _as_text(mime, data)
                    if text is not None:
                        bundle[mime] = text
        except Exception:
            pass
    for mime, name in _REPR_METHODS:
        method = getattr(value, name, None)
        if method is None or mime in bundle:
            continue
        try:
            text = _as_text(mime, method())
        except Exception:
            continue
        if text is not None:
            bundle[mime] = text
    return bundle


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
                    emit({"type": "result", "data": _mime_bundle(value)})
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
            {"type": "result", "data": _shown(format_dict)}
        )
        shell.display_pub.publish = lambda data, metadata=None, **kw: emit(
            {"type": "display", "data": _shown(data)}
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


def _shown(data):
    shown = {}
    for mime in _SHOWN_TYPES:
        if mime in data:
            text = _as_text(mime, data[mime])
            if text is not None:
                shown[mime] = text
    return shown


def _make_executor():
    if os.environ.get("BAY_KERNEL_PLAIN") != "1":
        try:
            return IPythonExecutor()
        except ImportError:
            pass
    return PlainExecutor()


def _import_for_cells():
    """What running a cell needs, imported after "ready": a cold start's first
    cell comes a few milliseconds later, so the ~10 ms these take overlap the
    agent's and Bay's own last steps instead of delaying "ready"."""
    global ast, base64, linecache, traceback
    import ast
    import base64
    import linecache
    import traceback


def main():
    global _executing
    executor = _make_executor()
    stdout, stderr = _Stream("stdout"), _Stream("stderr")
    emit({"type": "ready", "executor": executor.name, "python": sys.version.split()[0], "pid": os.getpid()})
    _import_for_cells()
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
