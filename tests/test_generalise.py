"""k-anonymity by local suppression (pipelines/publishing/generalise.py), on frames hypothesis makes up."""

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.publishing.generalise import OTHER, k_anonymous

COLUMNS = ["home_municipality", "mother_tongue", "age_band", "sex"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["091", "286", "285", "049", "398"]),
            st.sampled_from(["fi", "sv", "ru", "ar"]),
            st.sampled_from(["alle 18", "18–19", "20–24", "40–49"]),
            st.sampled_from(["male", "female", None]),
        ),
        max_size=80,
    ),
    st.integers(2, 6),
)
def test_every_combination_is_held_by_k_rows_or_the_frame_is_too_small(rows, k):
    frame = pl.DataFrame(rows, schema={c: pl.Utf8 for c in COLUMNS}, orient="row")
    out = k_anonymous(frame, COLUMNS, k)
    assert out.height == frame.height
    sizes = out.group_by(COLUMNS).len()["len"]
    assert frame.height < k or sizes.min() >= k
    # a value is only ever given up (to muu, or unknown for sex), never changed into another
    for column in COLUMNS:
        kept = out[column].is_not_null() & (out[column] != OTHER)
        assert (out.filter(kept)[column] == frame.filter(kept)[column]).all()


def test_a_common_combination_keeps_its_values():
    frame = pl.DataFrame(
        [("091", "fi", "18–19", "male")] * 6 + [("285", "so", "50+", "female")], schema=COLUMNS, orient="row"
    )
    out = k_anonymous(frame, COLUMNS, 5)
    assert out.head(6).rows() == frame.head(6).rows() or out.group_by(COLUMNS).len()["len"].min() >= 5
    assert out.group_by(COLUMNS).len()["len"].min() >= 5
