//! JavaScript values that the core's callbacks refer to by id.
//!
//! The core's listeners and selectors must be `Send + Sync`; JavaScript functions are not. A
//! callback object holds an id, and the function is looked up here, on the one JavaScript
//! thread, when it is called.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use wasm_bindgen::JsValue;

thread_local! {
    static VALUES: RefCell<HashMap<u32, JsValue>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// Keeps `value` until [`release`]; its id.
pub(crate) fn register(value: JsValue) -> u32 {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    });
    VALUES.with(|v| v.borrow_mut().insert(id, value));
    id
}

/// The value registered under `id`, unless it was released.
pub(crate) fn get(id: u32) -> Option<JsValue> {
    VALUES.with(|v| v.borrow().get(&id).cloned())
}

/// Forgets the value registered under `id`.
pub(crate) fn release(id: u32) {
    VALUES.with(|v| v.borrow_mut().remove(&id));
}
