/** The owners Bay itself names; API keys name all others. */

/** The owner of a one-user install: the BAY_API_KEY admin key, a generated key, embedded CLI mode. */
export const DEFAULT_OWNER = "default";
/**
 * The owner of callers without a key (allow_anonymous): no key may name it
 * (config load refuses one), so anonymous callers never share an owner with a key.
 */
export const ANONYMOUS_OWNER = "anonymous";
/**
 * Owner of warm pool members. Owners of API keys cannot contain ":", so no
 * caller can ever see, list or claim these sandboxes directly.
 */
export const POOL_OWNER = "bay:warm-pool";
