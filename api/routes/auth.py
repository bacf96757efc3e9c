"""Login (OAuth2 password flow) and "who am I"."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentUser, ServicesDep, SessionDep, client_address, unauthorized
from api.login_throttle import too_many_message
from store.models import Role
from store.users import authenticate

router = APIRouter(tags=["auth"])

# One answer for an unknown user, a wrong password and a deactivated account: the API must
# not tell which usernames exist (store.users.authenticate also takes the same time).
LOGIN_FAILED = "Benutzername oder Passwort ist falsch."


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class Me(BaseModel):
    username: str
    role: Role
    # The one scope of the role: centre (counsellor), partner, municipality (supervisor).
    scope: dict[str, str]


@router.post(
    "/auth/token", name="auth.token", responses={429: {"description": "Too many failed logins"}}
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    services: ServicesDep,
    session: SessionDep,
) -> Token:
    address = client_address(request)
    if (wait := services.logins.retry_after(form.username, address)) is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=too_many_message(wait),
            headers={"Retry-After": str(wait)},
        )
    # argon2 takes tens of milliseconds on purpose: off the event loop.
    user = await run_in_threadpool(authenticate, session, form.username, form.password)
    if user is None:
        services.logins.failed(form.username, address)
        raise unauthorized(LOGIN_FAILED)
    services.logins.succeeded(form.username, address)
    return Token(
        access_token=services.tokens.issue(user.username),
        expires_in=int(services.tokens.lifetime.total_seconds()),
    )


@router.get("/me", name="auth.me")
def me(user: CurrentUser) -> Me:
    scope = {
        key: value
        for key, value in (
            ("centre_id", user.centre_id),
            ("partner_id", user.partner_id),
            ("municipality_id", user.municipality_id),
        )
        if value is not None
    }
    return Me(username=user.username, role=user.role, scope=scope)
