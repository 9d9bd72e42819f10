"""Turn huggingface_hub / network exceptions into one-line :class:`HubError` messages a user can act on."""

from __future__ import annotations

from hf_aidetect.errors import HubError

_AFTER = "The local output folder was not changed; fix this and re-run the push (it is safe to repeat)."


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _is_network_error(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"TransportError", "ConnectionError", "TimeoutException", "NetworkError", "Timeout"})


def hub_error(error: BaseException, endpoint: str, repo_id: str) -> HubError:
    """A :class:`HubError` naming the cause, the server and what to do (never the token)."""
    from huggingface_hub.errors import LocalTokenNotFoundError, OfflineModeIsEnabled

    status = _status(error)
    if isinstance(error, OfflineModeIsEnabled):
        return HubError(f"HF_HUB_OFFLINE is set, so nothing can be pushed: unset it and re-run. {_AFTER}")
    if isinstance(error, LocalTokenNotFoundError):
        return HubError(f"No Hugging Face token: run `hf auth login` or set HF_TOKEN. {_AFTER}")
    if status == 401:
        return HubError(
            f"The Hub at {endpoint} rejected the token (401 Unauthorized): run `hf auth login` or set "
            f"HF_TOKEN (or --token) to a valid token with write access. {_AFTER}"
        )
    if status == 403:
        return HubError(
            f"The token may not write to {repo_id} on {endpoint} (403 Forbidden): use a token with write "
            f"access to that namespace, or push to your own namespace with --repo-id YOUR_USER/NAME. {_AFTER}"
        )
    if status is not None and status >= 500:
        return HubError(
            f"The Hub at {endpoint} failed with a server error ({status}) while pushing {repo_id}: "
            f"try again in a few minutes. {_AFTER}"
        )
    if status is not None:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return HubError(f"The Hub at {endpoint} refused the push to {repo_id} ({status}): {detail}. {_AFTER}")
    if _is_network_error(error):
        return HubError(
            f"Cannot reach the Hub at {endpoint} ({type(error).__name__}: {error}): check your network, "
            f"proxy and HF_ENDPOINT. {_AFTER}"
        )
    if isinstance(error, ValueError) and "metadata" in str(error).lower():
        return HubError(f"The Hub rejected the model card metadata of {repo_id}: {error}. {_AFTER}")
    return HubError(
        f"Pushing to {repo_id} on {endpoint} failed ({type(error).__name__}: {error}). If the server does "
        f"not support Xet storage, set HF_HUB_DISABLE_XET=1. {_AFTER}"
    )
