"""One small client per service the web front calls, each with the signed-in person's token.

The APIs decide who may see and do what; a client only translates: JSON in and out, and an
`ApiError` carrying the API's status and, for a 422, the message of each field.
"""
