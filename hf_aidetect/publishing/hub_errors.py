"""Turn huggingface_hub / network exceptions into one-line :class:`HubError` messages a user can act on."""

from __future__ import annotations

from hf_aidetect.errors import HubError

_AFTER = "The local output folder was not changed; fix this and re-run the push (it is safe to repeat)."


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def _is_network_error(error: BaseException) -> bool:
    return bool(
        _names(error) & {"TransportError", "ConnectionError", "TimeoutException", "NetworkError", "Timeout"}
    )


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it (huggingface_hub wraps a dropped LFS upload in a plain RuntimeError)."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _root(error: BaseException) -> BaseException:
    """The most telling error of the chain: the first with an HTTP status, else the first network error."""
    chain = _chain(error)
    return next(
        (item for item in chain if _status(item) is not None),
        next((item for item in chain if _is_network_error(item)), error),
    )


def _xet_is_disabled() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_DISABLE_XET)


def hub_error(
    error: BaseException, endpoint: str, repo_id: str, *, xet_disabled: bool | None = None
) -> HubError:
    """A :class:`HubError` naming the cause, the server and what to do (never the token).

    ``xet_disabled``: whether the failed upload already went without Xet (default: ``HF_HUB_DISABLE_XET``
    as huggingface_hub read it); the advice to set ``HF_HUB_DISABLE_XET=1`` is given only when it was not.
    """
    from huggingface_hub.errors import LocalTokenNotFoundError, OfflineModeIsEnabled

    outer, error = error, _root(error)
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
        if _names(error) & {"ConnectError", "ConnectTimeout", "NameResolutionError"}:
            return HubError(
                f"Cannot reach the Hub at {endpoint} ({type(error).__name__}: {error}): check your network, "
                f"proxy and HF_ENDPOINT. {_AFTER}"
            )
        return HubError(
            f"The connection to the Hub at {endpoint} dropped while pushing {repo_id} "
            f"({type(error).__name__}: {error}): check your network and proxy; a re-run skips the files "
            f"already uploaded. {_AFTER}"
        )
    if isinstance(error, ValueError) and "metadata" in str(error).lower():
        return HubError(f"The Hub rejected the model card metadata of {repo_id}: {error}. {_AFTER}")
    detail = f"{type(outer).__name__}: {outer}"
    if error is not outer:
        detail += f", caused by {type(error).__name__}: {error}"
    disabled = _xet_is_disabled() if xet_disabled is None else xet_disabled
    hint = "" if disabled else " If the server does not support Xet storage, set HF_HUB_DISABLE_XET=1."
    return HubError(f"Pushing to {repo_id} on {endpoint} failed ({detail}).{hint} {_AFTER}")
