package locksites

// primitive describes one kernelsim/ksync method that takes or drops a
// lock. The site string is always the method's last argument.
type primitive struct {
	acquire bool
	try     bool
	write   bool
	class   string // fixed by the type (mmap_lock, vma_lock, rcu); "" when the lock's own class decides
}

// primitives are ksync's lock operations by "Type.Method". A test checks
// that every exported method of ksync's lock types that takes a task and
// a site string is here or in notPrimitives, so a new primitive cannot be
// missed by the scan.
var primitives = map[string]primitive{
	"Rwsem.DownRead":           {acquire: true},
	"Rwsem.DownWrite":          {acquire: true, write: true},
	"Rwsem.DownWriteNested":    {acquire: true, write: true},
	"Rwsem.DownWriteBeneath":   {acquire: true, write: true},
	"Rwsem.DownReadTrylock":    {acquire: true, try: true},
	"Rwsem.DownWriteTrylock":   {acquire: true, try: true, write: true},
	"Rwsem.UpRead":             {},
	"Rwsem.UpWrite":            {write: true},
	"Mutex.Lock":               {acquire: true, write: true},
	"Mutex.LockNested":         {acquire: true, write: true},
	"Mutex.Trylock":            {acquire: true, try: true, write: true},
	"Mutex.Unlock":             {write: true},
	"MmapLock.ReadLock":        {acquire: true, class: "mmap_lock"},
	"MmapLock.ReadTrylock":     {acquire: true, try: true, class: "mmap_lock"},
	"MmapLock.WriteLock":       {acquire: true, write: true, class: "mmap_lock"},
	"MmapLock.WriteLockNested": {acquire: true, write: true, class: "mmap_lock"},
	"MmapLock.ReadUnlock":      {class: "mmap_lock"},
	"MmapLock.WriteUnlock":     {write: true, class: "mmap_lock"},
	"VMALock.StartRead":        {acquire: true, try: true, class: "vma_lock"},
	"VMALock.StartWrite":       {acquire: true, write: true, class: "vma_lock"},
	"VMALock.EndRead":          {class: "vma_lock"},
	"RCU.ReadLock":             {acquire: true, class: "rcu"},
	"RCU.ReadUnlock":           {class: "rcu"},
}

// notPrimitives are ksync methods with a task and a site that neither take
// nor drop a lock for the scan: a downgrade keeps the lock, a wait does not
// take it, the rest are assertions, state changes or grace periods.
var notPrimitives = map[string]bool{
	"Rwsem.DowngradeWrite":       true,
	"MmapLock.WriteDowngrade":    true,
	"Mutex.WaitUnlocked":         true,
	"VMALock.MarkAttached":       true,
	"VMALock.MarkDetached":       true,
	"RCU.Synchronize":            true,
	"Rwsem.AssertHeld":           true,
	"Mutex.AssertHeld":           true,
	"Rwsem.AssertHeldIn":         true,
	"Mutex.AssertHeldIn":         true,
	"MmapLock.AssertWriteLocked": true,
	"MmapLock.AssertLocked":      true,
	"VMALock.AssertWriteLocked":  true,
	"VMALock.AssertLocked":       true,
	"RCU.AssertReadHeld":         true,
	"RCU.CallRCU":                true,
}

// Known reports whether the scan knows the ksync method "Type.Method" (as
// a lock primitive or as something else).
func Known(name string) bool {
	_, ok := primitives[name]
	return ok || notPrimitives[name]
}
