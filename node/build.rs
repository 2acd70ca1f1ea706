//! Links the addon against the N-API symbols of the host Node process.

fn main() {
    napi_build::setup();
}
