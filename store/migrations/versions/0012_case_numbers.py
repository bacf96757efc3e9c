"""Human case numbers (`MUS-2026-0147`) and the search by name and number (issue 14).

- `municipalities.case_prefix`: three letters, unique, derived here from each id.
- `case_number_counters` (the last serial per municipality and year) and `case_numbers` (the
  number each case got).
- `case_summaries` gains the number, the client's full name and date of birth; every case
  already projected gets its number here, in opening order per municipality and year (German
  time); the names come with each case's next batch (the read model held the display name
  "Amal H." only: its given name is kept, so a search by it finds the case now).
- `case_name_keys`: the name's search keys (domain/name_key.py), filled here from the given
  names there are.

The key and prefix rules are copied here as they were (a revision never imports application
code, so that it keeps working when that code changes).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GERMAN_TIME = ZoneInfo("Europe/Berlin")
SLUG = sa.String(length=64)
ID = sa.String(length=120)


def upgrade() -> None:
    with op.batch_alter_table("municipalities") as batch:
        batch.add_column(sa.Column("case_prefix", sa.String(length=3), nullable=True))
    _give_prefixes()
    with op.batch_alter_table("municipalities") as batch:
        batch.create_unique_constraint(op.f("uq_municipalities_case_prefix"), ["case_prefix"])
    op.create_table(
        "case_number_counters",
        sa.Column("municipality_id", SLUG, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_id", "year", name=op.f("pk_case_number_counters")),
    )
    op.create_table(
        "case_numbers",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_case_numbers_number")),
    )
    with op.batch_alter_table("case_summaries") as batch:
        batch.add_column(
            sa.Column("number", sa.String(length=20), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("client_given_name", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "client_family_name", sa.String(length=100), nullable=False, server_default=""
            )
        )
        batch.add_column(sa.Column("client_birth_date", sa.Date(), nullable=True))
    op.create_index("ix_case_summaries_number", "case_summaries", ["number"])
    op.create_table(
        "case_name_keys",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "key", name=op.f("pk_case_name_keys")),
    )
    op.create_index("ix_case_name_keys_key", "case_name_keys", ["key", "case_id"])
    _number_existing_cases()


def downgrade() -> None:
    op.drop_index("ix_case_name_keys_key", table_name="case_name_keys")
    op.drop_table("case_name_keys")
    op.drop_index("ix_case_summaries_number", table_name="case_summaries")
    with op.batch_alter_table("case_summaries") as batch:
        for name in ("client_birth_date", "client_family_name", "client_given_name", "number"):
            batch.drop_column(name)
    op.drop_table("case_numbers")
    op.drop_table("case_number_counters")
    with op.batch_alter_table("municipalities") as batch:
        batch.drop_constraint(op.f("uq_municipalities_case_prefix"), type_="unique")
        batch.drop_column("case_prefix")


def _give_prefixes() -> None:
    bind = op.get_bind()
    municipalities = sa.table("municipalities", sa.column("id"), sa.column("case_prefix"))
    taken: set[str] = set()
    for (municipality_id,) in bind.execute(
        sa.select(municipalities.c.id).order_by(municipalities.c.id)
    ):
        prefix = _derive_prefix(municipality_id, taken)
        taken.add(prefix)
        bind.execute(
            municipalities.update()
            .where(municipalities.c.id == municipality_id)
            .values(case_prefix=prefix)
        )


def _number_existing_cases() -> None:
    bind = op.get_bind()
    summaries = sa.table(
        "case_summaries",
        sa.column("case_id"),
        sa.column("municipality_id"),
        sa.column("opened_at"),
        sa.column("client_display_name"),
        sa.column("client_given_name"),
        sa.column("number"),
    )
    municipalities = sa.table("municipalities", sa.column("id"), sa.column("case_prefix"))
    prefixes: dict[str, str] = {
        municipality_id: prefix
        for municipality_id, prefix in bind.execute(
            sa.select(municipalities.c.id, municipalities.c.case_prefix)
        )
    }
    serials: dict[tuple[str, int], int] = {}
    numbers: list[dict[str, object]] = []
    keys: list[dict[str, object]] = []
    rows = bind.execute(
        sa.select(
            summaries.c.case_id,
            summaries.c.municipality_id,
            summaries.c.opened_at,
            summaries.c.client_display_name,
        ).order_by(summaries.c.opened_at, summaries.c.case_id)
    )
    for case_id, municipality_id, opened_at, display_name in rows:
        prefix = prefixes.get(municipality_id)
        if prefix is None:
            continue  # a municipality since removed: the projector numbers it if it comes back
        year = _aware(opened_at).astimezone(GERMAN_TIME).year
        serial = serials.get((municipality_id, year), 0) + 1
        serials[(municipality_id, year)] = serial
        number = f"{prefix}-{year:04d}-{serial:04d}"
        # "Amal H.": the given name; the initial is not a name to search by.
        given = " ".join(word for word in display_name.split() if not re.fullmatch(r"\w\.", word))
        bind.execute(
            summaries.update()
            .where(summaries.c.case_id == case_id)
            .values(number=number, client_given_name=given[:100])
        )
        numbers.append({"case_id": case_id, "number": number})
        keys.extend({"case_id": case_id, "key": key} for key in _name_keys(given))
    counters = [
        {"municipality_id": m, "year": y, "last_serial": s} for (m, y), s in serials.items()
    ]
    if counters:
        op.bulk_insert(
            sa.table(
                "case_number_counters",
                sa.column("municipality_id"),
                sa.column("year"),
                sa.column("last_serial"),
            ),
            counters,
        )
    if numbers:
        op.bulk_insert(sa.table("case_numbers", sa.column("case_id"), sa.column("number")), numbers)
    if keys:
        op.bulk_insert(sa.table("case_name_keys", sa.column("case_id"), sa.column("key")), keys)


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# As domain/case_number.py derived a prefix on 2026-12-01.
def _derive_prefix(municipality_id: str, taken: set[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", municipality_id)
    letters = "".join(c for c in decomposed if "a" <= c.lower() <= "z").upper() or "X"
    padded = (letters + "XXX")[: max(len(letters), 3)]
    candidates = [padded[:3]]
    for i in range(1, len(padded)):
        for j in range(i + 1, len(padded)):
            candidates.append(padded[0] + padded[i] + padded[j])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    candidates += [padded[0] + b + c for b in alphabet for c in alphabet]
    candidates += [a + b + c for a in alphabet for b in alphabet for c in alphabet]
    return next(candidate for candidate in candidates if candidate not in taken)


# As domain/name_key.py keyed a name on 2026-12-01.
_DIGRAPHS = (("tsch", "ch"), ("sch", "s"), ("sh", "s"), ("kh", "h"), ("ch", "h"), ("ph", "f"))
_SINGLE = str.maketrans({"j": "y", "c": "k", "q": "k", "v": "w", "z": "s"})


def _name_keys(name: str) -> list[str]:
    lowered = name.lower().replace("ß", "s")
    latin = "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )
    keys: list[str] = []
    for token in re.findall(r"[a-z]+", latin):
        word = token
        for digraph, letter in (*_DIGRAPHS, ("ck", "k")):
            word = word.replace(digraph, letter)
        word = word.translate(_SINGLE)
        head = "a" if word[0] in "aeiou" else word[0]
        skeleton = head + "".join(c for c in word[1:] if c not in "aeiouy")
        key = re.sub(r"(.)\1+", r"\1", skeleton)[:40]
        if key not in keys:
            keys.append(key)
    return keys[:12]
