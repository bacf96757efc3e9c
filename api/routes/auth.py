"""Login (OAuth2 password flow) and "who am I"."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentUser, ServicesDep, SessionDep, client_address, unauthorized
from api.login import LOGIN_FAILED, record_login, username_problems
from api.login_throttle import LoginRefused
from store.models import Role
from store.users import authenticate

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class Me(BaseModel):
    username: str
    # The person's name as others read it (the username while the directory has none).
    display_name: str
    role: Role
    # The one scope of the role: centre (counsellor), partner, municipality (supervisor).
    scope: dict[str, str]


@router.post(
    "/auth/token",
    name="auth.token",
    responses={
        429: {"description": "Too many failed logins"},
        503: {"description": "Too many logins at once; try again after Retry-After"},
    },
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    services: ServicesDep,
    session: SessionDep,
) -> Token:
    _check_username(form.username)
    try:
        # argon2 takes its time on purpose: off the event loop, a few at a time.
        user = await services.logins.check(
            form.username,
            client_address(request),
            partial(authenticate, session, form.username, form.password),
        )
    except LoginRefused as refused:
        raise HTTPException(
            refused.status_code, detail=refused.message, headers=refused.headers
        ) from None
    await record_login(services.engine, user)
    if user is None:
        raise unauthorized(LOGIN_FAILED)
    return Token(
        access_token=services.tokens.issue(user.username),
        expires_in=int(services.tokens.lifetime.total_seconds()),
    )


def _check_username(username: str) -> None:
    if problems := username_problems(username):
        raise RequestValidationError(problems)


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
    return Me(
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        scope=scope,
    )
