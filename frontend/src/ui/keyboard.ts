/**
 * Keeps a text field on the canvas clear of the on-screen keyboard: when the visible area
 * shrinks (a phone's keyboard opening), the board pans up until the field is in view again.
 */

/** Room (px) kept between the field and the keyboard. */
const KEYBOARD_MARGIN_PX = 12;

/** How far (px) the field must move up so that its bottom is `margin` above `visibleBottom` (0: it is in view). */
export function overlap(fieldBottom: number, visibleBottom: number, margin = KEYBOARD_MARGIN_PX): number {
  return Math.max(0, fieldBottom + margin - visibleBottom);
}

/**
 * While `field` is open, pan (by `pan(dy)`, screen px, negative = content up) whenever it would
 * sit under the keyboard; returns the function that stops watching.
 */
export function avoidKeyboard(field: HTMLElement, stage: HTMLElement, pan: (dy: number) => void): () => void {
  const vv = window.visualViewport;
  const check = () => {
    // With interactive-widget=resizes-content the stage itself shrinks; elsewhere only the
    // visual viewport does. The lower of the two is where the keyboard begins.
    const stageBottom = stage.getBoundingClientRect().bottom;
    const visible = vv ? Math.min(stageBottom, vv.offsetTop + vv.height) : stageBottom;
    const dy = overlap(field.getBoundingClientRect().bottom, visible);
    if (dy > 0) pan(-dy);
  };
  vv?.addEventListener("resize", check);
  window.addEventListener("resize", check);
  check();
  return () => {
    vv?.removeEventListener("resize", check);
    window.removeEventListener("resize", check);
  };
}
