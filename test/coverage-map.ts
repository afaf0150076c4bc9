// Coverage is measured, and must be 100%, on the plugin's own source only.
export default function coverageMap (): string {
  return 'lib/'
}
