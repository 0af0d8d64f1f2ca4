"""The pages, one module per area; each route is thin: ask the APIs, render a template."""
