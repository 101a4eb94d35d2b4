"""Give a TFLite image model the minimal metadata MediaPipe Tasks needs to run it: how to normalise its input.

The selfie-segmentation models in the npm package @mediapipe/selfie_segmentation were made for the older
MediaPipe "solutions" and carry no TFLite metadata. MediaPipe Tasks (@mediapipe/tasks-vision, which the
browser client runs on the CPU, see web/static/js/background.js) refuses a float32 input without
NormalizationOptions ("it requires specifying NormalizationOptions metadata"), and its image segmenter reads
the first output tensor's metadata too. This module adds exactly that: one input tensor with
NormalizationOptions (pixel - mean) / std, and one empty output tensor entry, as the "TFLITE_METADATA" buffer
of the model, which is what the official metadata writer produces for such a model. The weights and the
graph are not touched.

Flatbuffers are written by hand here (the schema's few tables are small) so the vendor step needs no package
beyond the standard library. References in a flatbuffer are unsigned forward offsets, so the new root table of
the model, with its longer ``buffers`` and ``metadata`` vectors, goes in a block inserted right after the
file's 8-byte header: every old object moves by the same (16-aligned) distance and its own internal offsets
stay valid, and the old root table, no longer referenced, stays as dead bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MODEL_IDENTIFIER = b"TFL3"
# tflite schema: the Model table's fields, by slot.
MODEL_VERSION, MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_DESCRIPTION = 0, 1, 2, 3
MODEL_BUFFERS, MODEL_METADATA_BUFFER, MODEL_METADATA, MODEL_SIGNATURE_DEFS = 4, 5, 6, 7
MODEL_SLOTS = 8
# metadata_schema: ProcessUnitOptions union member NormalizationOptions.
NORMALIZATION_OPTIONS = 1
MIN_PARSER_VERSION = "1.0.0"


# ---- writing: a tiny front-to-back flatbuffer builder -------------------------------------------------


@dataclass
class Table:
    """A table to write: slot -> scalar (("u8" | "u32", value)) or child object (Table, Vector, str)."""

    fields: dict[int, object] = field(default_factory=dict)


@dataclass
class Vector:
    """A vector of child objects (``items`` are Table / str) or of float32 scalars (``floats``)."""

    items: list[object] = field(default_factory=list)
    floats: list[float] | None = None


class Writer:
    """Writes objects so that every reference points forward (a parent before its children)."""

    def __init__(self, prefix: bytes = b"") -> None:
        self.out = bytearray(prefix)

    def align(self, n: int) -> None:
        self.out.extend(b"\0" * (-len(self.out) % n))

    def patch(self, at: int, target: int) -> None:
        struct.pack_into("<I", self.out, at, target - at)

    def write(self, obj: object) -> int:
        """Write ``obj`` (and its children after it); return its position."""
        if isinstance(obj, str):
            self.align(4)
            at = len(self.out)
            data = obj.encode()
            self.out.extend(struct.pack("<I", len(data)) + data + b"\0")
            return at
        if isinstance(obj, Vector):
            self.align(4)
            at = len(self.out)
            if obj.floats is not None:
                self.out.extend(struct.pack(f"<I{len(obj.floats)}f", len(obj.floats), *obj.floats))
                return at
            self.out.extend(struct.pack("<I", len(obj.items)) + b"\0\0\0\0" * len(obj.items))
            for i, item in enumerate(obj.items):
                self.patch(at + 4 + 4 * i, self.write(item))
            return at
        assert isinstance(obj, Table)
        return self.write_table(obj)

    def write_table(self, table: Table) -> int:
        # Layout: vtable, then the table (int32 back-reference to its vtable, then 4-byte fields; a u8
        # field takes a 4-byte slot too, which keeps it simple and aligned).
        slots = max(table.fields, default=-1) + 1
        self.align(4)
        vtable_size = 4 + 2 * slots
        if (len(self.out) + vtable_size) % 4:
            self.out.extend(b"\0\0")  # so that the table after the vtable is 4-aligned
        vtable_at = len(self.out)
        offsets = [0] * slots
        for n, slot in enumerate(sorted(table.fields)):
            offsets[slot] = 4 + 4 * n
        table_size = 4 + 4 * len(table.fields)
        self.out.extend(struct.pack(f"<HH{slots}H", vtable_size, table_size, *offsets))
        at = len(self.out)
        assert at % 4 == 0
        self.out.extend(struct.pack("<i", at - vtable_at) + b"\0" * (table_size - 4))
        children: list[tuple[int, object]] = []
        for slot, value in table.fields.items():
            pos = at + offsets[slot]
            if isinstance(value, tuple):
                kind, scalar = value
                struct.pack_into("<B" if kind == "u8" else "<I", self.out, pos, scalar)
            else:
                children.append((pos, value))
        for pos, child in children:
            self.patch(pos, self.write(child))
        return at


def normalization_metadata(mean: float, std: float) -> bytes:
    """A ModelMetadata buffer: one subgraph, one input tensor normalised as (x - mean) / std, one output."""
    normalization = Table({0: Vector(floats=[mean]), 1: Vector(floats=[std])})
    process_unit = Table({0: ("u8", NORMALIZATION_OPTIONS), 1: normalization})
    input_tensor = Table({0: "image", 4: Vector([process_unit])})
    output_tensor = Table({0: "segmentation"})
    subgraph = Table({2: Vector([input_tensor]), 3: Vector([output_tensor])})
    model_metadata = Table({0: "selfie segmentation", 3: Vector([subgraph]), 7: MIN_PARSER_VERSION})
    writer = Writer(b"\0\0\0\0" + METADATA_IDENTIFIER)
    writer.patch(0, writer.write(model_metadata))
    return bytes(writer.out)


# ---- reading the model's root table ---------------------------------------------------------------


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _model_fields(model: bytes) -> dict[int, int]:
    """The Model table's present fields: slot -> absolute position of the field."""
    root = _u32(model, 0)
    vtable = root - struct.unpack_from("<i", model, root)[0]
    vtable_size = struct.unpack_from("<H", model, vtable)[0]
    found = {}
    for slot in range(min(MODEL_SLOTS, (vtable_size - 4) // 2)):
        offset = struct.unpack_from("<H", model, vtable + 4 + 2 * slot)[0]
        if offset:
            found[slot] = root + offset
    return found


def _vector_targets(model: bytes, field_at: int) -> list[int]:
    """Absolute positions of the objects a vector-of-tables field refers to."""
    vector = field_at + _u32(model, field_at)
    return [vector + 4 + 4 * i + _u32(model, vector + 4 + 4 * i) for i in range(_u32(model, vector))]


def _metadata_names(model: bytes, fields: dict[int, int]) -> list[str]:
    names = []
    for entry in _vector_targets(model, fields[MODEL_METADATA]) if MODEL_METADATA in fields else []:
        vtable = entry - struct.unpack_from("<i", model, entry)[0]
        name_at = entry + struct.unpack_from("<H", model, vtable + 4)[0]
        name = name_at + _u32(model, name_at)
        names.append(model[name + 4 : name + 4 + _u32(model, name)].decode())
    return names


# ---- writing the model with the metadata ----------------------------------------------------------


class _Old:
    """A reference to an object of the old model, by its position there (shifted when written)."""

    def __init__(self, at: int) -> None:
        self.at = at


def add_metadata(model: bytes, metadata: bytes) -> bytes:
    """``model`` (a .tflite file's bytes) with ``metadata`` as its TFLITE_METADATA buffer."""
    if model[4:8] != MODEL_IDENTIFIER:
        raise ValueError("not a TFLite model (no TFL3 identifier)")
    fields = _model_fields(model)
    if METADATA_NAME in _metadata_names(model, fields):
        raise ValueError("the model has TFLITE_METADATA already")
    old_buffers = _vector_targets(model, fields[MODEL_BUFFERS])
    old_metadata = _vector_targets(model, fields[MODEL_METADATA]) if MODEL_METADATA in fields else []

    # The inserted block, written at absolute position 8; old objects follow it, moved by `shift`.
    block = Writer(b"\0" * 8)
    pending: list[tuple[int, int]] = []  # (position of an offset in the block, old target position)

    def old_ref(at: int, target: int) -> None:
        pending.append((at, target))

    slots = sorted(set(fields) | {MODEL_BUFFERS, MODEL_METADATA})
    model_table = Table({slot: ("u32", 0) for slot in slots})
    root = block.write_table(model_table)
    vtable = root - struct.unpack_from("<i", block.out, root)[0]
    field_pos = {slot: root + struct.unpack_from("<H", block.out, vtable + 4 + 2 * slot)[0] for slot in slots}
    for slot in slots:
        if slot == MODEL_VERSION:
            struct.pack_into("<I", block.out, field_pos[slot], _u32(model, fields[slot]))
        elif slot not in (MODEL_BUFFERS, MODEL_METADATA):
            old_ref(field_pos[slot], fields[slot] + _u32(model, fields[slot]))

    def extended_vector(slot: int, old: list[int]) -> int:
        """Field ``slot`` becomes a vector of the ``old`` entries and one slot more; returns that slot's position."""
        vector_at = block.write(Vector([]))
        block.patch(field_pos[slot], vector_at)
        struct.pack_into("<I", block.out, vector_at, len(old) + 1)
        block.out.extend(b"\0\0\0\0" * (len(old) + 1))
        for i, target in enumerate(old):
            old_ref(vector_at + 4 + 4 * i, target)
        return vector_at + 4 + 4 * len(old)

    # buffers: the old ones and one more, holding the metadata.
    new_buffer_slot = extended_vector(MODEL_BUFFERS, old_buffers)
    # metadata: the old entries and {name: TFLITE_METADATA, buffer: the new buffer's index}.
    new_metadata_slot = extended_vector(MODEL_METADATA, old_metadata)
    entry = block.write(Table({0: METADATA_NAME, 1: ("u32", len(old_buffers))}))
    block.patch(new_metadata_slot, entry)
    # The new Buffer table and its bytes (16-aligned, as the schema asks of buffer data).
    buffer_table = block.write_table(Table({0: ("u32", 0)}))
    block.patch(new_buffer_slot, buffer_table)
    data_field = buffer_table + 4
    block.align(16)
    block.out.extend(b"\0" * 12)  # the length word sits just before the 16-aligned data
    data_at = len(block.out)
    block.out.extend(struct.pack("<I", len(metadata)) + metadata)
    block.patch(data_field, data_at)
    block.align(16)

    shift = len(block.out) - 8  # a multiple of 16: old buffer data keeps its alignment
    for at, target in pending:
        block.patch(at, target + shift)
    out = bytearray(block.out)
    out[0:4] = struct.pack("<I", root)
    out[4:8] = MODEL_IDENTIFIER
    return bytes(out) + model[8:]


def add_normalization(path: Path, mean: float = 0.0, std: float = 255.0) -> None:
    """Rewrite the model at ``path`` with input normalisation metadata (pixels to [0, 1] by default)."""
    path.write_bytes(add_metadata(path.read_bytes(), normalization_metadata(mean, std)))
