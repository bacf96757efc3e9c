"""The SQLModel read model and directory (municipalities, centres, partners, users, case summaries)."""
