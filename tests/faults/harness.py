"""Child side of the fault tests: one ``hf-aidetect`` command per process, optionally SIGKILLed at a point.

Kill points (``--kill``), all a real ``SIGKILL`` of the training process (its loader workers are orphaned
as they would be):

* ``step:N``    after optimizer step N, before anything of step N is saved;
* ``saving:N``  inside the save of checkpoint N: weights, optimizer and scheduler written, RNG state and
  ``trainer_state.json`` not yet;
* ``saved:N``   right after checkpoint N is complete.

Two ways to run it:

* ``python -m tests.faults.harness run [--kill SPEC] -- ARGV...`` runs ``hf-aidetect ARGV`` once;
* ``python -m tests.faults.harness serve`` is a fork server: it imports torch / transformers / datasets /
  hf_aidetect once (without starting any thread pool), then forks a fresh child per JSON job read from
  stdin (``{"argv": [...], "kill": SPEC, "log": PATH}``), answering ``{"pid": N}`` at the fork and
  ``{"status": S, "signal": K}`` at the child's end. Each leg then skips ~3 s of imports on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence


def install_kill(spec: str | None) -> None:
    """Make this process SIGKILL itself at ``spec`` (see the module docstring)."""
    if not spec:
        return
    from transformers import TrainerCallback

    from hf_aidetect.training.trainer import DetectionTrainer

    point, _, value = spec.partition(":")
    step = int(value)

    def die() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    class KillAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if point == "step" and state.global_step == step:
                die()

        def on_save(self, args, state, control, **kwargs):
            if point == "saved" and state.global_step == step:
                die()

    original_init = DetectionTrainer.__init__

    def init_with_kill(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.add_callback(KillAt())

    DetectionTrainer.__init__ = init_with_kill
    if point == "saving":
        original_rng = DetectionTrainer._save_rng_state

        def save_rng_then_maybe_die(self, output_dir):
            if self.state.global_step == step:
                die()
            return original_rng(self, output_dir)

        DetectionTrainer._save_rng_state = save_rng_then_maybe_die


def run_command(argv: Sequence[str], kill: str | None) -> int:
    install_kill(kill)
    from hf_aidetect.cli import main

    return main(list(argv))


def _serve() -> None:
    # Imported here, in the server, so that every forked child starts with them loaded. Nothing below may
    # start a thread pool: a forked child would inherit it broken.
    import datasets  # noqa: F401
    import torch  # noqa: F401
    import transformers.trainer  # noqa: F401

    import hf_aidetect.cli
    import hf_aidetect.training.runner

    hf_aidetect.cli.build_parser()  # imports every subcommand module
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: run the leg with its own log as stdin/stdout/stderr
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            sys.stdin = open(0)  # noqa: SIM115
            sys.stdout = open(1, "w", buffering=1)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1)  # noqa: SIM115
            status = 1
            try:
                status = run_command(job["argv"], job.get("kill"))
            except SystemExit as exit_request:  # argparse and friends
                status = exit_request.code if isinstance(exit_request.code, int) else 1
            except BaseException:  # reported in the log as an uncaught exception would be
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        print(json.dumps({"pid": pid}), flush=True)
        _, wait_status = os.waitpid(pid, 0)
        print(
            json.dumps(
                {
                    "status": os.waitstatus_to_exitcode(wait_status),
                    "signal": os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None,
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run")
    run.add_argument("--kill", default=None)
    run.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("serve")
    args = parser.parse_args()
    if args.mode == "serve":
        _serve()
        return
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    sys.exit(run_command(argv, args.kill))


if __name__ == "__main__":
    main()
