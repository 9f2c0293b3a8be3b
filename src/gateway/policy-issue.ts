/** One reason a generated gateway document would be rejected. */
export interface PolicyIssue {
  /** Dotted path into the document, with list indexes: `spec.jwt.providers[0].remoteJWKS`. */
  path: string;
  message: string;
}
