"""Login (OAuth2 password flow) and "who am I"."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentUser, ServicesDep, SessionDep, unauthorized
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


@router.post("/auth/token", name="auth.token")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    services: ServicesDep,
    session: SessionDep,
) -> Token:
    # argon2 takes tens of milliseconds on purpose: off the event loop.
    user = await run_in_threadpool(authenticate, session, form.username, form.password)
    if user is None:
        raise unauthorized(LOGIN_FAILED)
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
