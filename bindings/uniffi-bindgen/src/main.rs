//! `uniffi-bindgen`: the same uniffi version as the library, generating bindings from the
//! built library (`generate --library target/.../libgridline_ffi.so`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
