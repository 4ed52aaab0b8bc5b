"""Generate, check and deploy the AWS infrastructure for financial-transaction webhooks."""

__version__ = "0.1.0"
