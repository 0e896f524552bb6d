"""A payload codec for the tests: not encryption, just enough to prove every payload is wrapped."""


class ReversingCodec:
    MARK = b"rev1:"

    def encode(self, data: bytes) -> bytes:
        return self.MARK + data[::-1]

    def decode(self, data: bytes) -> bytes:
        if not data.startswith(self.MARK):
            raise ValueError("not written by ReversingCodec")
        return data[len(self.MARK) :][::-1]


class NotACodec:
    def encode(self, data: bytes) -> bytes:
        return data
