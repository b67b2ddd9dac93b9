/// Word lists the generated records draw from (Austin-area field-service business).
enum SandboxWords {
    static let firstNames = [
        "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Elizabeth",
        "William", "Susan", "Jose", "Jessica", "Richard", "Sarah", "Thomas", "Karen", "Daniel", "Nancy",
        "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Luis", "Ashley", "Steven", "Emily",
    ]
    static let lastNames = [
        "Smith", "Johnson", "Garcia", "Williams", "Brown", "Martinez", "Jones", "Rodriguez", "Davis", "Lopez",
        "Miller", "Hernandez", "Wilson", "Gonzalez", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "O'Brien",
    ]
    static let companySuffixes = [
        "Property Management", "Dental Group", "Family Restaurant", "Self Storage", "Veterinary Clinic",
        "Realty", "Church", "Fitness", "Auto Repair", "Apartments",
    ]
    static let streets = [
        "Oak", "Cedar", "Lamar", "Burnet", "Congress", "Riverside", "Manchaca", "Slaughter", "Parmer",
        "Anderson Mill", "Brodie", "Pecan", "Bluebonnet", "Mesquite", "Live Oak", "Spicewood",
    ]
    static let streetKinds = ["St", "Ave", "Blvd", "Ln", "Dr", "Rd", "Cv", "Trl"]
    /// (city, zip, latitude, longitude)
    static let cities: [(String, String, Double, Double)] = [
        ("Austin", "78704", 30.2460, -97.7700), ("Austin", "78745", 30.2070, -97.7960),
        ("Austin", "78731", 30.3470, -97.7610), ("Round Rock", "78664", 30.5080, -97.6420),
        ("Cedar Park", "78613", 30.5050, -97.8200), ("Pflugerville", "78660", 30.4390, -97.6200),
        ("Georgetown", "78626", 30.6330, -97.6780), ("Leander", "78641", 30.5790, -97.8530),
        ("Kyle", "78640", 29.9890, -97.8770), ("Buda", "78610", 30.0850, -97.8400),
    ]

    static func personName(_ r: inout SeededRandom) -> String {
        (r.pick(firstNames) ?? "Alex") + " " + (r.pick(lastNames) ?? "Doe")
    }
}
