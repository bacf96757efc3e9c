"""One router per area of the API (DESIGN.md, "API contract"); `main.create_app` mounts them.
Handlers are thin: parse, authorize through a dependency of `api.deps`, call one function,
shape the answer."""
