"""The web console for CSRs and the subscriber's self-care page.

Static files only, no build step: one HTML shell, plain CSS and ES modules that call the public API
(``/api/v1``) with the logged-in user's bearer token, exactly as any other client would. The pages
hold no data of their own, so whatever they show, the API shows and the OpenAPI document describes.
"""

from .router import router

__all__ = ["router"]
