"""The web front: server-rendered GOV.UK pages over the four services' APIs; no data of its own."""
