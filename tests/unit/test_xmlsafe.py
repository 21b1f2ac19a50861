"""The hardened XML entry point refuses hostile documents with a clear error."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.errors import MessageTooLargeError, XmlSyntaxError
from messages.xmlsafe import parse_xml


@pytest.fixture
def canary_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records whether anyone fetched from it (for XXE tests)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<x>fetched</x>")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/evil", hits
    server.shutdown()
    server.server_close()


def test_xxe_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'
    ).encode()
    with pytest.raises(XmlSyntaxError) as caught:
        parse_xml(doc)
    assert caught.value.code == "syntaksfejl"
    assert "DTD" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_xxe_network_is_refused_and_nothing_is_fetched(
    canary_server: tuple[str, list[str]],
) -> None:
    url, hits = canary_server
    for doc in (
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>&x;</r>',
        f'<!DOCTYPE r SYSTEM "{url}"><r/>',
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}"/></r>',
    ):
        try:
            root = parse_xml(doc.encode())
        except XmlSyntaxError:
            continue
        # XInclude is never processed: nothing was fetched into the document
        assert "fetched" not in "".join(str(t) for t in root.itertext())
    assert hits == []


def test_billion_laughs_is_refused() -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]><r>&l9;</r>'
    with pytest.raises(XmlSyntaxError, match=r"DTD|amplification"):
        parse_xml(doc.encode())


def test_dtd_hidden_past_the_prolog_or_in_utf16_is_refused() -> None:
    late = (
        b"<?xml version='1.0'?>"
        + b"<!-- pad -->" * 500
        + b"<!DOCTYPE r [<!ENTITY a 'b'>]><r>&a;</r>"
    )
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'
    for doc in (late, utf16.encode("utf-16")):
        with pytest.raises(XmlSyntaxError, match=r"DTD|not well-formed"):
            parse_xml(doc)


def test_undeclared_entity_is_refused() -> None:
    with pytest.raises(XmlSyntaxError, match="not well-formed"):
        parse_xml(b"<r>&x;</r>")


def test_50_mib_body_is_refused_before_parsing() -> None:
    body = b"<r>" + b"a" * (50 * 1024 * 1024) + b"</r>"
    with pytest.raises(MessageTooLargeError) as caught:
        parse_xml(body)
    assert caught.value.code == "message-too-large"


def test_100000_deep_nesting_is_refused() -> None:
    doc = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(XmlSyntaxError, match="depth"):
        parse_xml(doc)


@pytest.mark.parametrize(
    ("doc", "line"),
    [
        (b"<r>\n<a>\n<b>x</b>\n", 4),
        (b"", 1),
        (b"   ", 1),
        (b"\x00\x01\x02", 1),
        (b"<r>\n</s>", 2),
        (b'<?xml version="1.0" encoding="klingon"?><r/>', 1),
    ],
)
def test_broken_documents_name_the_line(doc: bytes, line: int) -> None:
    with pytest.raises(XmlSyntaxError) as caught:
        parse_xml(doc)
    assert caught.value.line == line
    assert caught.value.code == "syntaksfejl"


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "UTF-8"])
def test_declared_encodings_are_read_as_declared(encoding: str) -> None:
    text = "Børne- og Ungdomspsykiatri: æøå ÆØÅ"
    doc = f'<?xml version="1.0" encoding="{encoding}"?><r>{text}</r>'.encode(encoding)
    assert parse_xml(doc).text == text


def test_windows_1252_specific_characters() -> None:
    doc = '<?xml version="1.0" encoding="windows-1252"?><r>“citat” – €</r>'.encode("cp1252")
    assert parse_xml(doc).text == "“citat” – €"
