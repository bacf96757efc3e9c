"""A partner agency as the routing sees it: the directory record partner resolution picks from.
The read model (store/) implements the directory; rules/ and activities/ only see this type."""

from typing import Annotated

from pydantic import Field

from domain.enums import ActorKind
from domain.profile import StrictModel


class Partner(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: str = ""
    kind: ActorKind
    municipality: str
    measures: list[str] = Field(default_factory=list)
    active: bool = True
    open_referrals: Annotated[int, Field(ge=0)] = 0
