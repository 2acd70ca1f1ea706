// The demo keeps connections in localStorage; a real app may use IndexedDB or
// its backend. The SDK only calls get / set / delete.
export const storage = {
  get: (key) => localStorage.getItem(`mcp-oauth:${key}`),
  set: (key, value) => localStorage.setItem(`mcp-oauth:${key}`, value),
  delete: (key) => localStorage.removeItem(`mcp-oauth:${key}`),
};

// Where a pending same-window sign-in waits during the redirect.
export const PENDING_KEY = "mcp-oauth:pending";

export const redirectUri = `${location.origin}/callback.html`;
