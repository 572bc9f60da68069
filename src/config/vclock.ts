// Limits and defaults for src/vclock. Each constant: unit last in the name, and a sentence on why.
export {};
