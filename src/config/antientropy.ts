// Limits and defaults for src/antientropy. Each constant: unit last in the name, and a sentence on why.
export {};
