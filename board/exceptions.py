"""
Domain errors. Each carries a stable `code`; api/ maps them to HTTP, realtime/ to error frames.
"""

from __future__ import annotations


class BoardError(Exception):
    """
    Base of every domain error; `code` is part of the public API.
    """

    code = "board_error"

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class BoardNotFound(BoardError):
    """
    The board does not exist, or the caller may not know that it does.
    """

    code = "not_found"


class ShareLinkGone(BoardError):
    """
    The caller's only way in was a share link that has expired or was revoked. Said plainly,
    not as "not found": whoever holds the token was given the board by its owner.
    """

    code = "share_link_expired"


class ShareLinkRevoked(ShareLinkGone):
    """
    The share link was revoked by the board's owner.
    """

    code = "share_link_revoked"


class NotAllowed(BoardError):
    """
    The caller can see the board but lacks the role for this action.
    """

    code = "not_allowed"


class OpRejected(BoardError):
    """
    An op failed validation against the document model or the board's state.
    """

    code = "invalid_op"


class BoardFull(OpRejected):
    """
    The board reached a size bound (elements, points per stroke).
    """

    code = "board_full"


class ImageRejected(BoardError):
    """
    An upload is not an image Inkroom stores: not PNG, JPEG, GIF or WebP by its bytes.
    """

    code = "unsupported_image"


class ImageTooLarge(ImageRejected):
    """
    An upload is above INKROOM_MAX_IMAGE_BYTES.
    """

    code = "image_too_large"


class ImageTooManyPixels(ImageRejected):
    """
    An image's width x height is above INKROOM_MAX_IMAGE_PIXELS (or it cannot be decoded).
    """

    code = "image_too_many_pixels"


class ImageUnreadable(ImageRejected):
    """
    An upload has the signature of a supported type but does not decode as one.
    """

    code = "invalid_image"
