// The protocol types the driver's API takes and returns (`StampMetadata`, `StatusWord`,
// `PersonalizationData`, `AuditEntry`, …) come with `import SealHostDriver`: integrators need no
// second product.
@_exported import SealProtocol
