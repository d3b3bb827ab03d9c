/* guests/linux/init.c: the whole user space of the Linux guest.
 *
 * Runs as /init from the initramfs, prints the kernel's version and every
 * PCI function the kernel found (through the 0xCF8/0xCFC cycles the HSM
 * folds and the project's PCI configuration space answers), then resets
 * the machine (the kernel is booted with reboot=t: a triple fault, which
 * the VMM sees as KVM_EXIT_SHUTDOWN). Its lines start "ioreq-init:" and
 * the last is "ioreq-init: done", which boot_linux waits for. Built
 * statically with the host's gcc by guests/linux/BUILD. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

static void read_field(const char *device, const char *field, char *out,
                       size_t size) {
  char path[256];
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/%s", device, field);
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  if (fgets(out, (int)size, f) == NULL) out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

int main(void) {
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  struct utsname u;
  if (uname(&u) == 0) printf("ioreq-init: Linux %s %s\n", u.release, u.machine);
  int functions = 0;
  DIR *dir = opendir("/sys/bus/pci/devices");
  if (dir == NULL) {
    printf("ioreq-init: no /sys/bus/pci/devices\n");
  } else {
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char vendor[16], device[16], class_code[16];
      read_field(e->d_name, "vendor", vendor, sizeof vendor);
      read_field(e->d_name, "device", device, sizeof device);
      read_field(e->d_name, "class", class_code, sizeof class_code);
      printf("ioreq-init: pci %s vendor %s device %s class %s\n", e->d_name,
             vendor, device, class_code);
      ++functions;
    }
    closedir(dir);
  }
  printf("ioreq-init: %d PCI functions\n", functions);
  printf("ioreq-init: done\n");
  fflush(stdout);
  sync();
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}
