// Building and updating the page's elements. Server values reach the page only as text nodes, attribute values
// and input values (a route may be any 63 characters, markup included): no innerHTML anywhere, and no inline style,
// which the CSP refuses.

export function metaContent(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

/**
 * A new element. `text` becomes its text node, `on` its listeners, `class` its class list; every other key is an
 * attribute set with setAttribute, never parsed as markup.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
