"""The API's JSON parser: DRF's, with the nesting limit of core.safejson (a 400, not a 500)."""

from __future__ import annotations

import codecs

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from . import safejson


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing JSON nested deeper than `safejson.MAX_DEPTH` levels."""

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ARG002 - DRF parser hook
        encoding = parsers.get_encoding(parser_context or {})  # text codecs only (no bz2_codec)
        try:
            text = codecs.getreader(encoding)(stream).read()
            parse_constant = json.strict_constant if self.strict else None
            return safejson.loads(text, parse_constant=parse_constant)
        except safejson.JSONTooDeep:
            raise
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
