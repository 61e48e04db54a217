/**
 * Lays out text with the client's rules, for the cross-language parity test
 * (tests/frontend/test_text_layout_parity.py). Reads a JSON array of elements (text elements and
 * labelled box shapes) on stdin and writes, per element, [display lines, box width, box height].
 */
import { readFileSync } from "node:fs";
import type { Element } from "../protocol";
import { textBoxLines, textExtent } from "../canvas/text-layout";

const els = JSON.parse(readFileSync(0, "utf8")) as Element[];
const results = els.map((el) => [textBoxLines(el), ...(el.type === "text" ? textExtent(el) : [null, null])]);
process.stdout.write(JSON.stringify(results));
