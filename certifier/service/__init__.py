"""The HTTP service: the Flask app, the issuer API and its OpenAPI document, the console, health."""
