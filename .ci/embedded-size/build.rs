//! The program has no `main`: the linker starts from `tv_f32` and drops
//! every section it does not reach.

fn main() {
    println!("cargo:rustc-link-arg=--entry=tv_f32");
}
