"""Login (OAuth2 password flow), "who am I" and the change of one's own password.

An account whose password an administrator reset gets a token at the login as before, with
`password_change_required: true`: until `POST /me/password` sets a new password, that token
reaches nothing else; every other route answers 403 naming `POST /me/password` (api/deps.py
`PASSWORD_CHANGE_REQUIRED`). Tokens from before a reset or a change answer 401.
"""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.deps import (
    AccountUser,
    CurrentUser,
    ServicesDep,
    SessionDep,
    client_address,
    unauthorized,
)
from api.errors import invalid
from api.login import LOGIN_FAILED, record_login, username_problems
from api.login_throttle import LoginRefused
from api.password_change import password_change
from domain.passwords import MAX_LENGTH, NewPassword
from store.models import Role
from store.users import authenticate

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds
    # The token reaches only `POST /me/password` until a new password is set.
    password_change_required: bool = False


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[SecretStr, Field(min_length=1, max_length=MAX_LENGTH)]
    new_password: NewPassword


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
        password_change_required=user.must_change_password,
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


@router.post(
    "/me/password",
    name="auth.password_change",
    responses={429: {"description": "Too many wrong current passwords"}},
)
async def change_password(
    body: PasswordChange,
    user: AccountUser,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
) -> Token:
    """Replace one's own password (any role); also the way out of a reset's temporary
    password. The current password is checked like a login (same throttle), so a stolen
    session alone cannot take over the account. Every token issued before (this request's
    too) stops counting: the answer is a fresh token."""
    outcome = await password_change(
        services, session, user, client_address(request), body.current_password, body.new_password
    )
    if outcome is not None:
        raise invalid(outcome.field, outcome.message)
    return Token(
        access_token=services.tokens.issue(user.username),
        expires_in=int(services.tokens.lifetime.total_seconds()),
    )
