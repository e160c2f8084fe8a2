/** A number of things for people, plural right: `1 host`, `2 hosts`, `1 entry`, `3 entries`. */
export const count = (n: number, singular: string, plural = `${singular}s`): string => `${n} ${n === 1 ? singular : plural}`
