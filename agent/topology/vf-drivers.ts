// VF drivers that give no kernel netdev: the VF is driven from user space (DPDK, VMs). A VF bound to one of these
// is never "missing its netdev". One list for the setup checks and the alert rules.
export const USERSPACE_VF_DRIVERS: readonly string[] = ['vfio-pci', 'uio_pci_generic', 'igb_uio'];

export function isUserspaceVfDriver(driver: string | undefined): boolean {
  return driver !== undefined && USERSPACE_VF_DRIVERS.includes(driver);
}
