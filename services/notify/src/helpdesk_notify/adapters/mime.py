"""The bytes of a notification mail, written directly rather than through `EmailMessage`.

`EmailMessage` parses every header it is given into a syntax tree and folds it back on output,
and builds each part as a message of its own: for notify's mails (a few headers, a text and an
HTML alternative in quoted-printable) that took about 3.7 ms of CPU per mail, the largest single
cost of a burst. The same bytes are written here (a test compares them with `EmailMessage`'s
output): the bodies go through the library's own quoted-printable encoder, and a header goes
through the library's parsing and folding only when it is not plain, short ASCII (a subject with
accents needs RFC 2047 encoded words; a display name may need quoting).

Bodies are encoded quoted-printable in lines of at most 76 characters (RFC 2045), so that nothing
depends on the server's 8BITMIME; headers are folded only past 998 characters (RFC 5322's hard
limit), because Python folds a long subject right after `Subject:`, which readers then show with
a leading space.
"""

from __future__ import annotations

import random
import re
import sys
from email import policy, quoprimime
from email.utils import formatdate

from helpdesk_notify.domain.mail import Mail

#: The policies `EmailMessage` would be given: the parts encoded in 76-character lines, the whole
#: written with headers folded only past 998.
_BODY_LINE = 76
ENCODE_POLICY = policy.SMTP.clone(max_line_length=_BODY_LINE)
WRITE_POLICY = policy.SMTP.clone(max_line_length=998)

#: Words of printable ASCII separated by single spaces: what the library writes back unchanged
#: in an unstructured header (an `=?` could start an encoded word: left to the library).
_PLAIN_TEXT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
#: A dot-atom address (`jean.dupont@ac-paris.fr`): written back unchanged in an address header.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*")
_LONGEST_LINE = 998
_CRLF = b"\r\n"


def header(name: str, value: str) -> bytes:
    """`Name: value` and its line end, as `EmailMessage` would write it."""
    line = f"{name}: {value}"
    plain = (
        _PLAIN_ADDRESS.fullmatch(value)
        if name in ("To", "From")
        else (_PLAIN_TEXT.fullmatch(value) and "=?" not in value)
    )
    if plain and len(line) <= _LONGEST_LINE:
        return line.encode("ascii") + _CRLF
    parsed = ENCODE_POLICY.header_store_parse(name, value)[1]
    return WRITE_POLICY.fold_binary(name, parsed)


def quoted_printable(content: str) -> bytes:
    """`content` in UTF-8, quoted-printable, in lines of CRLF: as `set_content` encodes it."""
    lines = content.encode("utf-8").splitlines()
    normal = (b"\n".join(lines) + b"\n").decode("latin-1")
    encoded = quoprimime.body_encode(normal, _BODY_LINE)
    return encoded.replace("\n", "\r\n").encode("ascii")


def boundary() -> str:
    """A part boundary as the library draws it. It cannot occur in a quoted-printable body,
    where every `=` is followed by two hex digits or a line end."""
    return "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="


def mail_bytes(mail: Mail, from_header: bytes, date: str | None = None) -> bytes:
    """The whole message: thread headers, auto-generated, text and HTML alternatives.

    `from_header` is the sender's `header("From", ...)`, the same for every mail (computed once);
    `date` the `Date` header's value, now when not given."""
    separator = boundary()
    head = [
        from_header,
        header("To", mail.recipient),
        header("Subject", mail.subject),
        header("Date", date or formatdate(localtime=False, usegmt=True)),
        header("Message-ID", mail.message_id),
    ]
    if mail.in_reply_to:
        head.append(header("In-Reply-To", mail.in_reply_to))
    if mail.references:
        head.append(header("References", " ".join(mail.references)))
    head += [
        b"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{separator}"\r\n\r\n'.encode("ascii"),
    ]
    opening = f"--{separator}\r\n".encode("ascii")
    qp = b'; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
    return b"".join(
        [
            *head,
            opening,
            b"Content-Type: text/plain" + qp + _CRLF,
            quoted_printable(mail.text),
            _CRLF + opening,
            b"Content-Type: text/html" + qp + b"MIME-Version: 1.0\r\n" + _CRLF,
            quoted_printable(mail.html),
            f"\r\n--{separator}--\r\n".encode("ascii"),
        ]
    )
