"""Running an ONNX model: one onnxruntime session per model file, on a GPU when there is one, stopped by Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from campwatch.detection.card import ModelError

__all__ = ["run_session", "session_for", "set_inference_threads", "choose_providers", "GPU_PROVIDERS", "CPU_PROVIDER",
           "INTERRUPT_POLL_S"]

_SESSIONS: dict[str, Any] = {}

#: How often the thread that waits for an inference looks for Ctrl-C, in seconds.
INTERRUPT_POLL_S = 0.1


def run_session(session: Any, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[Any]:
    """``session.run(outputs, feeds)``, stopped within a fraction of a second by Ctrl-C.

    One inference of a large tile can take a minute, and Python sees a Ctrl-C only once the
    call returns. So the inference runs in a thread of its own while this one waits; on
    ``KeyboardInterrupt`` (or any exit) the run is told to stop (onnxruntime's
    ``RunOptions.terminate``), waited for, and the interrupt raised.
    """
    import onnxruntime as ort

    options = ort.RunOptions()
    result: list[Any] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def infer() -> None:
        try:
            result.extend(session.run(outputs, feeds, options))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failure.append(exc)
        finally:
            done.set()

    # Waited for on an Event, not Thread.join: a join that Ctrl-C interrupts marks the thread
    # ended while it still runs (and the process then aborts at exit).
    threading.Thread(target=infer, name="campwatch-inference", daemon=True).start()
    try:
        while not done.wait(INTERRUPT_POLL_S):
            pass
    except BaseException:
        options.terminate = True
        done.wait()
        raise
    if failure:
        raise failure[0]
    return result


#: onnxruntime's execution providers of a GPU, used when the installed onnxruntime offers one
#: (``onnxruntime-gpu``), best first; the CPU's is always the last resort.
GPU_PROVIDERS = ("CUDAExecutionProvider", "ROCMExecutionProvider", "DmlExecutionProvider")
CPU_PROVIDER = "CPUExecutionProvider"

#: The intra-op threads of the sessions this process opens (0: onnxruntime's own choice, one per core).
_THREADS = [0]


def set_inference_threads(threads: int) -> None:
    """Give the sessions this process opens from now on ``threads`` intra-op threads (0: one per core).

    A process of ``--workers N`` takes its share of the cores, so that N inferences at once do
    not fight over them.
    """
    _THREADS[0] = max(0, int(threads))


def choose_providers(available: Sequence[str]) -> list[str]:
    """The execution providers to ask for, best first: a GPU's when onnxruntime offers one, then the CPU's."""
    return [p for p in GPU_PROVIDERS if p in available] + [CPU_PROVIDER]


def session_for(path: Path) -> Any:
    """An onnxruntime session for a model file, one per file, thread count and process (quiet).

    On a GPU when the installed onnxruntime offers one (:func:`choose_providers`); onnxruntime
    falls back to the CPU where the GPU cannot run it, and :meth:`campwatch.detection.model.ChangeModel.provider_notes` says so.
    """
    key = f"{path.resolve()}|{_THREADS[0]}"
    if key not in _SESSIONS:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = _THREADS[0]
        try:
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=options,
                                                  providers=choose_providers(ort.get_available_providers()))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelError(f"model {path}: not a model onnxruntime can run ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300]})") from exc
    return _SESSIONS[key]
