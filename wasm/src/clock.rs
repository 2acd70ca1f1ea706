//! The only clock: `Date.now()`, read at the boundary and handed to core as
//! seconds since the Unix epoch (`SystemTime::now()` panics on this target).

/// Seconds since the Unix epoch, from `Date.now()`.
pub(crate) fn now() -> u64 {
    let millis = js_sys::Date::now();
    if millis.is_finite() && millis > 0.0 {
        (millis / 1000.0) as u64
    } else {
        0
    }
}
