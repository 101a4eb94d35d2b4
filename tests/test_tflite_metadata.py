"""scripts/tflite_metadata.py: the selfie-segmentation model gets its normalisation metadata and keeps everything
else (the browser tests in test_browser_blur.py show MediaPipe Tasks accepts the result)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import tflite_metadata as tm  # noqa: E402

MODEL = ROOT / "web" / "node_modules" / "@mediapipe" / "selfie_segmentation" / "selfie_segmentation_landscape.tflite"


def _table_field(data: bytes, table: int, slot: int) -> int | None:
    """Absolute position of a table's field, or None when absent."""
    vtable = table - struct.unpack_from("<i", data, table)[0]
    size = struct.unpack_from("<H", data, vtable)[0]
    if 4 + 2 * slot >= size:
        return None
    offset = struct.unpack_from("<H", data, vtable + 4 + 2 * slot)[0]
    return table + offset if offset else None


def _ref(data: bytes, at: int) -> int:
    return at + struct.unpack_from("<I", data, at)[0]


def _buffer_data(model: bytes, buffer_table: int) -> bytes:
    field = _table_field(model, buffer_table, 0)
    if field is None:
        return b""
    vector = _ref(model, field)
    return model[vector + 4 : vector + 4 + struct.unpack_from("<I", model, vector)[0]]


@pytest.fixture(scope="module")
def model() -> bytes:
    assert MODEL.is_file(), f"{MODEL} is missing: run scripts/setup.sh (npm ci in web/)"
    return MODEL.read_bytes()


def test_the_model_keeps_its_buffers_and_gains_normalisation_metadata(model: bytes) -> None:
    patched = tm.add_metadata(model, tm.normalization_metadata(0.0, 255.0))
    old, new = tm._model_fields(model), tm._model_fields(patched)
    old_buffers = [_buffer_data(model, b) for b in tm._vector_targets(model, old[tm.MODEL_BUFFERS])]
    new_buffers = [_buffer_data(patched, b) for b in tm._vector_targets(patched, new[tm.MODEL_BUFFERS])]
    assert new_buffers[:-1] == old_buffers  # the weights, byte for byte
    assert tm._metadata_names(patched, new) == [*tm._metadata_names(model, old), tm.METADATA_NAME]
    # Everything else the root table pointed at (operators, subgraphs, ...) is the same bytes, moved.
    for slot in (tm.MODEL_OPERATOR_CODES, tm.MODEL_SUBGRAPHS):
        assert tm._u32(model, _ref(model, old[slot])) == tm._u32(patched, _ref(patched, new[slot]))

    # The metadata: ModelMetadata > subgraph_metadata[0] > input_tensor_metadata[0] > process_units[0] is
    # NormalizationOptions(mean [0], std [255]), and there is one output tensor entry.
    metadata = new_buffers[-1]
    assert metadata[4:8] == tm.METADATA_IDENTIFIER
    root = _ref(metadata, 0)
    subgraph = tm._vector_targets(metadata, _table_field(metadata, root, 3))[0]
    (tensor,) = tm._vector_targets(metadata, _table_field(metadata, subgraph, 2))
    assert len(tm._vector_targets(metadata, _table_field(metadata, subgraph, 3))) == 1
    (unit,) = tm._vector_targets(metadata, _table_field(metadata, tensor, 4))
    assert metadata[_table_field(metadata, unit, 0)] == tm.NORMALIZATION_OPTIONS
    options = _ref(metadata, _table_field(metadata, unit, 1))
    mean = _ref(metadata, _table_field(metadata, options, 0))
    std = _ref(metadata, _table_field(metadata, options, 1))
    assert struct.unpack_from("<If", metadata, mean) == (1, 0.0)
    assert struct.unpack_from("<If", metadata, std) == (1, 255.0)


def test_a_model_with_metadata_already_is_refused(model: bytes) -> None:
    patched = tm.add_metadata(model, tm.normalization_metadata(0.0, 255.0))
    with pytest.raises(ValueError, match="TFLITE_METADATA already"):
        tm.add_metadata(patched, tm.normalization_metadata(0.0, 255.0))
    with pytest.raises(ValueError, match="not a TFLite model"):
        tm.add_metadata(b"\0" * 64, b"")
