"""Trying the webhook without AWS: ``serve`` (the handler behind API Gateway's layer,
AWS emulated by moto), ``send`` (sign and post a delivery) and Standard Webhooks signing."""
