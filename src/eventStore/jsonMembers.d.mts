/** Types of jsonMembers.mjs (plain JavaScript, loaded by the read-ahead worker without a TypeScript loader). */
export function memberPicker(keys: readonly string[]): (text: string) => string;
