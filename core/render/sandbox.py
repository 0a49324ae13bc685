"""Process hygiene for sandboxed children (renders, geometry probes): a stripped environment, a memory
ceiling, group kills.

The parent starts each child in its own session (``start_new_session=True``), so the child and
everything it starts (Blender, ffmpeg) form one process group that a cancel or a timeout can kill at
once. The memory ceiling is set by the child itself (``apply_memory_limit``) after its GL context
exists: EGL and llvmpipe reserve around a gigabyte of address space for themselves (a GPU driver can
reserve far more), so the limit is "what the context already uses + the budget for the model".
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

# Anything that looks like a credential stays in the app's process; a hostile model file that gets
# code execution in a loader (or a Blender add-on) must find nothing worth stealing.
SECRET_NAME_PATTERN = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|"
    r"_KEY$|^KEY$|AUTH|COOKIE|SESSION|SIGNATURE|DSN|"
    r"^AWS_|^AZURE_|^GOOGLE_|^GCP_|^GCLOUD_|^GH_|^GITHUB_|^GITLAB_|^NPM_|^PYPI_|^TWINE_|"
    r"^HF_|^HUGGING|^OPENAI|^ANTHROPIC|^SSH_|^GPG_|^DOCKER_|^KUBE|^VAULT_|^STRATOPIPE_SERVER",
    re.IGNORECASE,
)
DEFAULT_KILL_GRACE_S = 2.0


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME_PATTERN.search(name))


def sanitized_environment(
    environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A copy of the environment without credential-like variables, plus ``extra``."""
    source = os.environ if environ is None else environ
    cleaned = {name: value for name, value in source.items() if not is_secret_name(name)}
    dropped = sorted(set(source) - set(cleaned))
    if dropped:
        log.debug("Render child environment drops %d variable(s): %s", len(dropped), dropped)
    if extra:
        cleaned.update(extra)
    return cleaned


def current_virtual_memory_bytes() -> int | None:
    """VmSize of this process (Linux), the figure RLIMIT_AS is compared with."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def apply_memory_limit(budget_mb: int) -> int | None:
    """Cap this process's address space at its current size plus ``budget_mb``; returns the cap.

    Called by the render child once its GL context is up (and by the geometry probe child once its
    imports are done), so the cap bounds what a model file can add rather than what the driver or
    the libraries reserve. Platforms without RLIMIT_AS get no cap (logged).
    """
    try:
        import resource
    except ImportError:
        log.warning("No resource module on %s: child memory is not limited", sys.platform)
        return None
    baseline = current_virtual_memory_bytes()
    if baseline is None:
        log.warning("Cannot read this process's memory size: its memory is not limited")
        return None
    limit = baseline + budget_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError) as exc:
        log.warning("Cannot limit this process's memory to %d MB: %s", budget_mb, exc)
        return None
    log.info("Memory limited to %d MB over a %d MB baseline", budget_mb, baseline // 2**20)
    return limit


def spawn_child(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in a new session with piped stdin/stdout/stderr."""
    kwargs: dict[str, object] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:  # pragma: no cover - Windows: the closest thing to a process group
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        close_fds=True,
        **kwargs,
    )


def _signal_group(pid: int, signum: int) -> bool:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        log.warning("Not allowed to signal render process group %d", pid)
        return False
    return True


def kill_process_group(process: subprocess.Popen[bytes], grace_s: float = DEFAULT_KILL_GRACE_S) -> int | None:
    """SIGTERM the child's whole group, wait ``grace_s``, then SIGKILL; returns the exit status."""
    if os.name != "posix":  # pragma: no cover
        process.kill()
        return process.wait()
    pid = process.pid
    if process.poll() is None or _group_alive(pid):
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(pid):
                break
            time.sleep(0.02)
        else:
            _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        return process.wait(timeout=grace_s + 5.0)
    log.error("Render process %d did not exit after SIGKILL", pid)
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
