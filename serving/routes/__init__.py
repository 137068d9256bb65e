"""HTTP routers, one per resource; each stays thin: validate, call one function, shape."""
