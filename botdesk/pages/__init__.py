"""One Dash page per module: `dash.register_page`, a `layout` function, its callbacks."""
